//! `tandem explain`: where the router would send statements, as JSON.

use std::io::{BufRead, Write};
use std::path::Path;
use std::process::ExitCode;

use tandem::config;
use tandem::router::plan::{self, Catalog};

pub fn main(path: &Path, schema: Option<&str>, sql: Option<&str>) -> ExitCode {
    let cfg = match config::check_file(path).into_result() {
        Ok((c, _)) => c,
        Err(diags) => {
            for d in &diags {
                eprintln!("{d}");
            }
            eprintln!("tandem explain: {} is not valid", path.display());
            return ExitCode::from(2);
        }
    };
    let Some(r) = cfg.router else {
        eprintln!("tandem explain: {} has no router section", path.display());
        return ExitCode::from(2);
    };
    let cat = match Catalog::build(&r, Path::new("/")) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("tandem explain: {e}");
            return ExitCode::from(2);
        }
    };
    let schema = match schema {
        Some(s) => s.to_string(),
        None => match r.schemas.first() {
            Some(s) => s.name.clone(),
            None => {
                eprintln!("tandem explain: no schema is configured");
                return ExitCode::from(2);
            }
        },
    };
    if cat.schema(&schema).is_none() {
        eprintln!("tandem explain: schema `{schema}` is not configured");
        return ExitCode::from(2);
    }
    match sql {
        Some(s) => {
            let v = plan::explain(&cat, &schema, s);
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            if v.get("error").is_some() {
                return ExitCode::FAILURE;
            }
            ExitCode::SUCCESS
        }
        None => {
            let stdin = std::io::stdin();
            let mut out = std::io::stdout().lock();
            match explain_lines(&cat, &schema, stdin.lock(), &mut out) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => {
                    eprintln!("tandem explain: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// One JSON object per statement line of `input`. A line that is not UTF-8 is reported
/// (with its number) and skipped, never the end of the input. Ok(false) when any line
/// could not be read or planned.
fn explain_lines(
    cat: &Catalog,
    schema: &str,
    mut input: impl BufRead,
    out: &mut impl Write,
) -> Result<bool, String> {
    let mut all_ok = true;
    let mut buf = Vec::new();
    let mut n = 0usize;
    loop {
        buf.clear();
        let read = input
            .read_until(b'\n', &mut buf)
            .map_err(|e| format!("cannot read stdin: {e}"))?;
        if read == 0 {
            return Ok(all_ok);
        }
        n += 1;
        let Ok(line) = std::str::from_utf8(&buf) else {
            eprintln!("tandem explain: stdin line {n} is not UTF-8; skipped");
            all_ok = false;
            continue;
        };
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') || l.starts_with("-- ") {
            continue;
        }
        let v = plan::explain(cat, schema, l);
        all_ok &= v.get("error").is_none();
        writeln!(out, "{}", serde_json::to_string(&v).unwrap_or_default())
            .map_err(|e| format!("cannot write stdout: {e}"))?;
    }
}
