//! deploy/install.sh into an alternative root (`--root`), never onto this machine: the files
//! it installs, a second run that changes nothing, an operator's config that is kept, an
//! invalid config that is refused with the checker's positions, and `--dry-run`.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{repo_root, tandem_bin};

fn install(root: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(repo_root().join("deploy/install.sh"))
        .arg("--root")
        .arg(root)
        .arg("--binary")
        .arg(tandem_bin())
        .arg("--no-start")
        .args(extra)
        .output()
        .expect("run deploy/install.sh");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn box_a() -> String {
    repo_root()
        .join("config/lab/box-a.yaml")
        .to_string_lossy()
        .into_owned()
}

/// A root with the account files of a minimal system, so the user can be written there.
fn root_with_accounts() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let etc = dir.path().join("etc");
    std::fs::create_dir_all(&etc).expect("etc");
    std::fs::write(etc.join("passwd"), "root:x:0:0:root:/root:/bin/bash\n").expect("passwd");
    std::fs::write(etc.join("group"), "root:x:0:\n").expect("group");
    std::fs::write(etc.join("shadow"), "root:*:19000:0:99999:7:::\n").expect("shadow");
    std::fs::write(etc.join("gshadow"), "root:*::\n").expect("gshadow");
    dir
}

/// The value of `key=` in systemd/tandem.service.
fn unit_value(key: &str) -> Option<String> {
    let unit = std::fs::read_to_string(repo_root().join("systemd/tandem.service")).expect("unit");
    unit.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim().to_string())
}

/// Every entry below `root`: mode, owner, mtime and (for files) length and a content hash.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, String> {
    fn walk(dir: &Path, out: &mut BTreeMap<PathBuf, String>) {
        for e in std::fs::read_dir(dir).expect("read_dir") {
            let p = e.expect("entry").path();
            let m = std::fs::symlink_metadata(&p).expect("metadata");
            let mut desc = format!(
                "{:o} {}:{} {}.{}",
                m.mode(),
                m.uid(),
                m.gid(),
                m.mtime(),
                m.mtime_nsec()
            );
            if m.is_file() {
                let bytes = std::fs::read(&p).expect("read");
                let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                    (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
                });
                desc.push_str(&format!(" {} {h:x}", bytes.len()));
            }
            out.insert(p.clone(), desc);
            if m.is_dir() {
                walk(&p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

/// What the script must never touch on this machine, read before and after a test.
fn host_state() -> Vec<Option<Vec<u8>>> {
    [
        "/etc/passwd",
        "/etc/group",
        "/etc/systemd/system/tandem.service",
        "/etc/sysctl.d/60-tandem.conf",
        "/etc/tandem/tandem.yaml",
        "/usr/local/bin/tandem",
    ]
    .iter()
    .map(|p| std::fs::read(p).ok())
    .collect()
}

#[test]
fn installs_into_a_root_and_a_second_run_changes_nothing() {
    let host = host_state();
    let dir = root_with_accounts();
    let root = dir.path();
    let (ok, out) = install(root, &["--config", &box_a()]);
    assert!(ok, "{out}");
    assert!(out.contains("config "), "{out}");
    assert!(out.contains("valid"), "{out}");

    // The binary, executable, byte for byte the one given.
    let bin = root.join("usr/local/bin/tandem");
    let meta = std::fs::metadata(&bin).expect("installed binary");
    assert_eq!(meta.permissions().mode() & 0o7777, 0o755);
    assert!(
        std::fs::read(&bin).expect("read binary") == std::fs::read(tandem_bin()).expect("read"),
        "installed binary differs from the given one"
    );
    let v = Command::new(&bin).arg("version").output().expect("run it");
    assert!(v.status.success());

    // The unit as is.
    let unit = std::fs::read(root.join("etc/systemd/system/tandem.service")).expect("unit");
    assert_eq!(
        unit,
        std::fs::read(repo_root().join("systemd/tandem.service")).expect("repo unit")
    );

    // The user, in the root's account files only.
    let passwd = std::fs::read_to_string(root.join("etc/passwd")).expect("passwd");
    let line = passwd
        .lines()
        .find(|l| l.starts_with("tandem:"))
        .unwrap_or_else(|| panic!("no tandem user in {passwd}"));
    let f: Vec<&str> = line.split(':').collect();
    assert_eq!(f[6], "/usr/sbin/nologin", "{line}");
    let uid: u32 = f[2].parse().expect("uid");
    let gid: u32 = f[3].parse().expect("gid");
    assert!((100..1000).contains(&uid), "a system uid: {line}");
    let group = std::fs::read_to_string(root.join("etc/group")).expect("group");
    assert!(group.contains(&format!("tandem:x:{gid}:")), "{group}");
    let shadow = std::fs::read_to_string(root.join("etc/shadow")).expect("shadow");
    assert!(
        shadow.lines().any(|l| l.starts_with("tandem:!:")),
        "{shadow}"
    );
    let gshadow = std::fs::read_to_string(root.join("etc/gshadow")).expect("gshadow");
    assert!(gshadow.lines().any(|l| l == "tandem:!::"), "{gshadow}");

    // The config, readable by the group only; its directory 0750 root:tandem.
    let conf = root.join("etc/tandem/tandem.yaml");
    assert_eq!(
        std::fs::read(&conf).expect("config"),
        std::fs::read(box_a()).expect("box-a")
    );
    let cm = std::fs::metadata(&conf).expect("config meta");
    assert_eq!(cm.mode() & 0o7777, 0o640);
    let dm = std::fs::metadata(root.join("etc/tandem")).expect("conf dir");
    assert_eq!(dm.mode() & 0o7777, 0o750);

    // The state directory, the daemon's.
    let sm = std::fs::metadata(root.join("var/lib/tandem")).expect("state dir");
    assert!(sm.is_dir());
    assert_eq!(sm.mode() & 0o7777, 0o750);
    if nix::unistd::geteuid().is_root() {
        assert_eq!((sm.uid(), sm.gid()), (uid, gid));
        assert_eq!((cm.uid(), cm.gid()), (0, gid));
    }
    // systemd applies StateDirectoryMode= (default 0755) to the state directory at every
    // start, and warns at every start when ConfigurationDirectoryMode= (default 0755)
    // differs from /etc/tandem's: the unit must say what the script does, or each start
    // undoes it and each later run of the script redoes it.
    for (key, m) in [
        ("StateDirectoryMode", &sm),
        ("ConfigurationDirectoryMode", &dm),
    ] {
        let v = unit_value(key).unwrap_or_else(|| "0755".into());
        assert_eq!(
            u32::from_str_radix(&v, 8).expect("octal mode"),
            m.mode() & 0o7777,
            "{key}={v} in the unit"
        );
    }

    // The sysctl file: explanations only, nothing set.
    let sysctl = std::fs::read_to_string(root.join("etc/sysctl.d/60-tandem.conf")).expect("sysctl");
    assert!(sysctl.contains("ip_nonlocal_bind"), "{sysctl}");
    assert!(sysctl.contains("IP_FREEBIND"), "{sysctl}");
    assert!(sysctl.contains("arp_ignore"), "{sysctl}");
    for l in sysctl.lines() {
        assert!(
            l.trim().is_empty() || l.starts_with('#'),
            "a setting nobody needs: {l}"
        );
    }
    assert!(root.join("usr/local/share/doc/tandem/README.md").is_file());
    assert!(
        !root
            .join("etc/systemd/system/multi-user.target.wants")
            .exists(),
        "--no-start enabled the unit"
    );

    // Again: the same files, untouched, and it says so.
    let before = snapshot(root);
    let (ok, out2) = install(root, &["--config", &box_a()]);
    assert!(ok, "{out2}");
    assert!(out2.contains("nothing changed"), "{out2}");
    assert!(!out2.contains("install: install "), "{out2}");
    assert_eq!(
        before,
        snapshot(root),
        "the second run changed files:\n{out2}"
    );
    let passwd2 = std::fs::read_to_string(root.join("etc/passwd")).expect("passwd");
    assert_eq!(passwd, passwd2);

    // Without --config, the installed one is used.
    let (ok, out3) = install(root, &[]);
    assert!(ok, "{out3}");
    assert!(out3.contains("nothing changed"), "{out3}");

    assert_eq!(host, host_state(), "the script touched this machine");
}

#[test]
fn an_existing_config_is_kept() {
    let host = host_state();
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    let conf_dir = root.join("etc/tandem");
    std::fs::create_dir_all(&conf_dir).expect("conf dir");
    let mine = "# the operator's own\nnode: edited-by-hand\n";
    std::fs::write(conf_dir.join("tandem.yaml"), mine).expect("write config");
    let (ok, out) = install(root, &["--config", &box_a()]);
    assert!(ok, "{out}");
    assert_eq!(
        std::fs::read_to_string(conf_dir.join("tandem.yaml")).expect("config"),
        mine
    );
    assert!(out.contains("kept (never overwritten"), "{out}");
    // No account files in this root: the user is skipped, not created anywhere.
    assert!(out.contains("user tandem: skipped"), "{out}");
    assert!(!root.join("etc/passwd").exists());
    assert!(root.join("usr/local/bin/tandem").is_file());
    assert_eq!(host, host_state(), "the script touched this machine");
}

#[test]
fn an_existing_config_keeps_its_content_but_not_a_world_readable_mode() {
    let host = host_state();
    let dir = root_with_accounts();
    let root = dir.path();
    let conf_dir = root.join("etc/tandem");
    std::fs::create_dir_all(&conf_dir).expect("conf dir");
    let conf = conf_dir.join("tandem.yaml");
    // Written by hand with umask 022: the passwords in it readable by everyone.
    let mine = std::fs::read_to_string(box_a()).expect("box-a") + "# edited by hand\n";
    std::fs::write(&conf, &mine).expect("write config");
    std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (ok, out) = install(root, &["--config", &box_a()]);
    assert!(ok, "{out}");
    assert!(out.contains("kept (never overwritten"), "{out}");
    assert_eq!(std::fs::read_to_string(&conf).expect("config"), mine);
    let cm = std::fs::metadata(&conf).expect("config meta");
    assert_eq!(cm.mode() & 0o7777, 0o640, "{out}");
    if nix::unistd::geteuid().is_root() {
        // Group tandem: the daemon and ExecReload's `tandem check` run as tandem.
        let group = std::fs::read_to_string(root.join("etc/group")).expect("group");
        let gid: u32 = group
            .lines()
            .find_map(|l| l.strip_prefix("tandem:x:"))
            .and_then(|r| r.trim_end_matches(':').parse().ok())
            .unwrap_or_else(|| panic!("no tandem group in {group}"));
        assert_eq!((cm.uid(), cm.gid()), (0, gid));
    }
    // And then it stays as it is.
    let before = snapshot(root);
    let (ok, out2) = install(root, &[]);
    assert!(ok, "{out2}");
    assert!(out2.contains("nothing changed"), "{out2}");
    assert_eq!(
        before,
        snapshot(root),
        "the second run changed files:\n{out2}"
    );
    assert_eq!(host, host_state(), "the script touched this machine");
}

#[test]
fn an_invalid_config_is_refused_before_anything_is_installed() {
    let dir = root_with_accounts();
    let root = dir.path();
    let bad_dir = tempfile::tempdir().expect("tempdir");
    let bad = bad_dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "node: x\nvrrp:\n  instances:\n    - name: VI_1\n      interfac: eth0\n",
    )
    .expect("write bad config");
    let before = snapshot(root);
    let (ok, out) = install(root, &["--config", &bad.to_string_lossy()]);
    assert!(!ok, "{out}");
    assert!(
        out.contains(&format!(
            "{}:5:7: vrrp.instances[0].interfac: unknown key `interfac`",
            bad.display()
        )),
        "{out}"
    );
    assert!(out.contains("nothing was installed"), "{out}");
    assert_eq!(before, snapshot(root), "a refused config changed files");
}

#[test]
fn dry_run_touches_nothing() {
    let host = host_state();
    let dir = root_with_accounts();
    let root = dir.path();
    let before = snapshot(root);
    let (ok, out) = install(
        root,
        &["--config", &box_a(), "--dry-run", "--firewall", "nftables"],
    );
    assert!(ok, "{out}");
    assert_eq!(before, snapshot(root), "--dry-run changed files:\n{out}");
    for want in [
        "would add the system user tandem",
        "would install ",
        "usr/local/bin/tandem",
        "etc/systemd/system/tandem.service",
        "etc/sysctl.d/60-tandem.conf",
        // The rule for box A's peer, box B.
        "nft insert rule inet filter input ip saddr 198.18.0.2 ip protocol vrrp accept",
        "nothing was changed",
    ] {
        assert!(out.contains(want), "missing {want:?} in:\n{out}");
    }
    let (ok, out) = install(
        root,
        &["--config", &box_a(), "--dry-run", "--firewall", "iptables"],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("iptables -I INPUT -s 198.18.0.2 -p vrrp"),
        "{out}"
    );
    assert_eq!(before, snapshot(root), "--dry-run changed files:\n{out}");
    assert_eq!(host, host_state(), "the script touched this machine");
}
