// Records the git commit the binary is built from (for `tandem version` and
// tandem_build_info) and its date; "unknown" outside a git checkout.
use std::process::Command;

/// The trimmed output of `git <args>`, or "unknown".
fn git(args: &[&str]) -> String {
    Command::new("git")
        .args(args)
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "unknown".to_string())
}

fn main() {
    let commit = git(&["rev-parse", "--short=12", "HEAD"]);
    println!("cargo:rustc-env=TANDEM_GIT_COMMIT={commit}");
    // The date of the commit (haproxy's `show info` Release_date: the latest source
    // update), as YYYY/MM/DD.
    let date = git(&["log", "-1", "--format=%cd", "--date=format:%Y/%m/%d"]);
    println!("cargo:rustc-env=TANDEM_RELEASE_DATE={date}");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
}
