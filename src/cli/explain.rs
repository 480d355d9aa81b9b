//! `tandem explain`: where the router would send statements, as JSON.

use std::io::BufRead;
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
    let one = |s: &str| serde_json::to_string(&plan::explain(&cat, &schema, s)).unwrap_or_default();
    match sql {
        Some(s) => {
            let v = plan::explain(&cat, &schema, s);
            println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            if v.get("error").is_some() {
                return ExitCode::FAILURE;
            }
        }
        None => {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let l = line.trim();
                if l.is_empty() || l.starts_with('#') || l.starts_with("-- ") {
                    continue;
                }
                println!("{}", one(l));
            }
        }
    }
    ExitCode::SUCCESS
}
