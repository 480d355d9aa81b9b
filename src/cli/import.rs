//! `tandem import`: keepalived.conf, haproxy.cfg and MyCat's conf/ → tandem YAML.

use std::path::PathBuf;
use std::process::ExitCode;

use tandem::config;
use tandem::import::{self, Sources};

/// Prints the YAML on stdout and the warnings on stderr, then validates the result:
/// 0 valid, 1 the generated config has errors, 2 an input cannot be read.
pub fn main(
    keepalived: Option<PathBuf>,
    haproxy: Option<PathBuf>,
    mycat_dir: Option<PathBuf>,
    node: Option<String>,
) -> ExitCode {
    if keepalived.is_none() && haproxy.is_none() && mycat_dir.is_none() {
        eprintln!(
            "tandem import: nothing to import: give --keepalived FILE, --haproxy FILE and/or --mycat-dir DIR"
        );
        return ExitCode::from(2);
    }
    let src = Sources {
        keepalived,
        haproxy,
        mycat_dir,
        node,
    };
    let out = match import::import(&src) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("tandem import: {e}");
            return ExitCode::from(2);
        }
    };
    print!("{}", out.yaml);
    for w in &out.warnings {
        eprintln!("{w}");
    }
    let base = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    let checked = config::check_str(&out.yaml, "<imported>", &base);
    match checked.into_result() {
        Ok((_, diags)) => {
            for d in &diags {
                eprintln!("{d}");
            }
            eprintln!(
                "tandem import: the generated config is valid ({} warning(s) above)",
                out.warnings.len() + diags.len()
            );
            ExitCode::SUCCESS
        }
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            eprintln!(
                "tandem import: the generated config has errors (listed above): fix them in the output before use"
            );
            ExitCode::FAILURE
        }
    }
}
