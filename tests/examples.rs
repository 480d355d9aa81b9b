//! Every file under config/ is valid, and survives a write/read round trip.

mod common;

use std::path::{Path, PathBuf};

use common::{repo_root, tandem};
use tandem::config;

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("read config dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            yaml_files(&p, out);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")) {
            out.push(p);
        }
    }
}

fn examples() -> Vec<PathBuf> {
    let mut v = Vec::new();
    yaml_files(&repo_root().join("config"), &mut v);
    assert!(
        v.iter().any(|p| p.ends_with("two-box/box-a.yaml")),
        "the two-box example is missing: {v:?}"
    );
    v
}

#[test]
fn tandem_check_accepts_every_example() {
    for p in examples() {
        let path = p.to_string_lossy().to_string();
        let (code, out, err) = tandem(&["check", "-c", &path]);
        assert_eq!(code, 0, "{path}:\n{out}{err}");
        assert!(
            out.lines()
                .last()
                .is_some_and(|l| l.starts_with(&format!("{path}: valid"))),
            "{out}"
        );
    }
}

#[test]
fn two_box_example_checks_as_a_pair_without_findings() {
    let dir = repo_root().join("config/two-box");
    let a = dir.join("box-a.yaml").to_string_lossy().to_string();
    let b = dir.join("box-b.yaml").to_string_lossy().to_string();
    let (code, out, _) = tandem(&["check", "-c", &a, "-c", &b]);
    assert_eq!(code, 0, "{out}");
    // The only findings are the trackers of subsystems this build does not run yet.
    for line in out.lines() {
        assert!(
            line.ends_with(": valid")
                || line.contains(": valid (")
                || line.contains("is not part of this build yet"),
            "unexpected finding: {line}"
        );
    }
    assert!(out.contains(&format!("{a}: valid")), "{out}");
    assert!(out.contains(&format!("{b}: valid")), "{out}");
}

/// The config written back out (as JSON, which is YAML) reads back to the same config.
#[test]
fn examples_round_trip() {
    for p in examples() {
        let (cfg, _) = config::check_file(&p)
            .into_result()
            .unwrap_or_else(|d| panic!("{}: {d:?}", p.display()));
        let text = serde_json::to_string_pretty(&cfg).expect("serialize");
        let again = config::check_str(
            &text,
            "roundtrip.json",
            p.parent().unwrap_or(Path::new(".")),
        );
        let errors = again.errors();
        assert!(errors.is_empty(), "{}: {errors:#?}\n{text}", p.display());
        assert_eq!(again.config.as_ref(), Some(&cfg), "{}", p.display());
    }
}
