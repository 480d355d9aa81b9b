//! `tandem check`.

use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::json;
use tandem::config;

pub fn main(paths: &[PathBuf], as_json: bool) -> ExitCode {
    let results = config::check_cluster(paths);
    let valid = results.iter().all(|c| c.is_valid());
    if as_json {
        let files: Vec<_> = results
            .iter()
            .map(|c| {
                json!({
                    "file": c.file,
                    "valid": c.is_valid(),
                    "errors": c.errors(),
                    "warnings": c.warnings(),
                })
            })
            .collect();
        let doc = json!({ "valid": valid, "files": files });
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else {
        for c in &results {
            for d in c.diagnostics() {
                println!("{d}");
            }
            let (e, w) = (c.errors().len(), c.warnings().len());
            let plural =
                |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
            if e == 0 {
                if w == 0 {
                    println!("{}: valid", c.file);
                } else {
                    println!("{}: valid ({})", c.file, plural(w, "warning"));
                }
            } else {
                println!(
                    "{}: {}, {}",
                    c.file,
                    plural(e, "error"),
                    plural(w, "warning")
                );
            }
        }
    }
    if valid {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
