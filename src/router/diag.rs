//! The diagnostics area of a statement the router answered from several nodes: what
//! `SHOW WARNINGS`, `SHOW COUNT(*) WARNINGS` and `@@warning_count` read until the next
//! statement. A single node's statement leaves them to that node's connection (the
//! session sends the diagnostics statement there); a merged one has warnings from
//! every node it read and from the merge itself, which no one node holds.

use super::merge::Warning;
use super::wire::{ResultSet, TYPE_LONGLONG, TYPE_VAR_STRING};

/// MariaDB's default `max_error_count`: the rows `SHOW WARNINGS` keeps.
pub const MAX_ROWS: usize = 64;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnostics {
    /// `@@warning_count`: every warning, also those past [`MAX_ROWS`].
    pub count: u64,
    /// The rows `SHOW WARNINGS` lists (at most [`MAX_ROWS`]).
    pub rows: Vec<Warning>,
}

impl Diagnostics {
    fn errors(&self) -> u64 {
        self.rows.iter().filter(|w| w.level == "Error").count() as u64
    }
}

/// The answer to a diagnostics statement from `d`: `SHOW WARNINGS|ERRORS [LIMIT
/// [offset,] n]`, `SHOW COUNT(*) WARNINGS|ERRORS`, `SELECT @@[session.]warning_count` or
/// `SELECT @@[session.]error_count`. `None` for any other form (it goes to a node, as
/// before).
pub fn answer(sql: &str, d: &Diagnostics) -> Option<ResultSet> {
    let t = sql.trim().trim_end_matches(';').trim();
    let words: Vec<String> = t.split_whitespace().map(str::to_ascii_lowercase).collect();
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    match w.as_slice() {
        ["show", what @ ("warnings" | "errors"), rest @ ..] => {
            let (offset, n) = limit(rest)?;
            let errors_only = *what == "errors";
            let mut rs = ResultSet::with_types(&[
                ("Level", TYPE_VAR_STRING),
                ("Code", TYPE_LONGLONG),
                ("Message", TYPE_VAR_STRING),
            ]);
            for x in d
                .rows
                .iter()
                .filter(|x| !errors_only || x.level == "Error")
                .skip(offset)
                .take(n)
            {
                rs.row(vec![
                    Some(x.level.clone()),
                    Some(x.code.to_string()),
                    Some(x.message.clone()),
                ]);
            }
            Some(rs)
        }
        ["show", ..] => {
            // SHOW COUNT(*) WARNINGS, however it is spaced.
            let joined: String = w.concat();
            let (name, v) = match joined.as_str() {
                "showcount(*)warnings" => ("@@session.warning_count", d.count),
                "showcount(*)errors" => ("@@session.error_count", d.errors()),
                _ => return None,
            };
            Some(count(name, v))
        }
        ["select", var] => {
            let v = match var.strip_prefix("@@session.").or(var.strip_prefix("@@")) {
                Some("warning_count") => d.count,
                Some("error_count") => d.errors(),
                _ => return None,
            };
            // The column is named as the client wrote it.
            let name = t.get(6..).map(str::trim).unwrap_or(var);
            Some(count(name, v))
        }
        _ => None,
    }
}

fn count(name: &str, v: u64) -> ResultSet {
    let mut rs = ResultSet::with_types(&[(name, TYPE_LONGLONG)]);
    rs.row(vec![Some(v.to_string())]);
    rs
}

/// `LIMIT n`, `LIMIT offset, n`, `LIMIT n OFFSET offset` (nothing: all rows).
fn limit(rest: &[&str]) -> Option<(usize, usize)> {
    let text = rest.join(" ");
    let text = text.trim();
    if text.is_empty() {
        return Some((0, usize::MAX));
    }
    let body = text.strip_prefix("limit")?.trim();
    let num = |s: &str| s.trim().parse::<usize>().ok();
    if let Some((a, b)) = body.split_once(',') {
        return Some((num(a)?, num(b)?));
    }
    let parts: Vec<&str> = body.split_whitespace().collect();
    match parts.as_slice() {
        [n] => Some((0, num(n)?)),
        [n, "offset", o] => Some((num(o)?, num(n)?)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(code: u16, msg: &str) -> Warning {
        Warning {
            level: "Warning".into(),
            code,
            message: msg.into(),
        }
    }

    fn rows(rs: &ResultSet) -> Vec<Vec<String>> {
        rs.rows
            .iter()
            .map(|r| r.iter().map(|c| c.clone().unwrap_or_default()).collect())
            .collect()
    }

    #[test]
    fn diagnostics_statements_read_the_merged_area() {
        let d = Diagnostics {
            count: 70,
            rows: vec![
                w(1292, "a"),
                w(1292, "b"),
                w(1260, "Row 1 was cut by GROUP_CONCAT()"),
            ],
        };
        let all = answer("SHOW WARNINGS", &d).expect("answered");
        assert_eq!(
            all.columns.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(),
            ["Level", "Code", "Message"]
        );
        assert_eq!(rows(&all).len(), 3);
        assert_eq!(
            rows(&all)[2],
            ["Warning", "1260", "Row 1 was cut by GROUP_CONCAT()"]
        );
        let lim = answer("show  warnings limit 1, 1;", &d).expect("answered");
        assert_eq!(rows(&lim), [["Warning", "1292", "b"]]);
        let lim = answer("SHOW WARNINGS LIMIT 2 OFFSET 1", &d).expect("answered");
        assert_eq!(rows(&lim).len(), 2);
        assert_eq!(rows(&answer("SHOW ERRORS", &d).expect("answered")).len(), 0);
        let c = answer("SHOW COUNT( * ) WARNINGS", &d).expect("answered");
        assert_eq!(c.columns[0].0, "@@session.warning_count");
        assert_eq!(rows(&c), [["70"]]);
        let c = answer("select @@WARNING_COUNT", &d).expect("answered");
        assert_eq!(c.columns[0].0, "@@WARNING_COUNT");
        assert_eq!(rows(&c), [["70"]]);
        let c = answer("SELECT @@session.error_count", &d).expect("answered");
        assert_eq!(rows(&c), [["0"]]);
        // Other forms go to a node as before.
        for other in [
            "SELECT @@warning_count, 1",
            "SHOW WARNINGS LIMIT x",
            "SELECT @@warning_count AS n",
            "SHOW VARIABLES",
        ] {
            assert!(answer(other, &d).is_none(), "{other}");
        }
    }
}
