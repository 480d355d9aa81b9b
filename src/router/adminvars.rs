//! What drivers and tools ask the admin port when they connect (MyCat's ShowVariables,
//! ShowCollation, SelectSessionAutoIncrement, ...): `SELECT @@var, ...`, `SELECT 1`,
//! `SHOW VARIABLES [LIKE ...]`, `SHOW COLLATION`. The admin port has no server behind it,
//! so the answers are the router's own, fixed values.

/// The admin port's system variables, sorted by name. `version`: what it announces;
/// `time_zone`: the box's zone abbreviation; `max_packet`: the longest command it reads.
pub fn variables(version: &str, time_zone: &str, max_packet: usize) -> Vec<(&'static str, String)> {
    let mut v: Vec<(&'static str, String)> = vec![
        ("auto_increment_increment", "1".into()),
        ("auto_increment_offset", "1".into()),
        ("autocommit", "1".into()),
        ("character_set_client", "utf8mb4".into()),
        ("character_set_connection", "utf8mb4".into()),
        ("character_set_database", "utf8mb4".into()),
        ("character_set_results", "utf8mb4".into()),
        ("character_set_server", "utf8mb4".into()),
        ("collation_connection", "utf8mb4_general_ci".into()),
        ("collation_database", "utf8mb4_general_ci".into()),
        ("collation_server", "utf8mb4_general_ci".into()),
        ("init_connect", String::new()),
        ("interactive_timeout", "28800".into()),
        ("license", "GPL".into()),
        ("lower_case_table_names", "0".into()),
        ("max_allowed_packet", max_packet.to_string()),
        ("net_buffer_length", "16384".into()),
        ("net_read_timeout", "30".into()),
        ("net_write_timeout", "60".into()),
        ("performance_schema", "0".into()),
        ("query_cache_size", "0".into()),
        ("query_cache_type", "OFF".into()),
        ("sql_mode", String::new()),
        ("system_time_zone", time_zone.into()),
        ("time_zone", "SYSTEM".into()),
        ("transaction_isolation", "REPEATABLE-READ".into()),
        ("transaction_read_only", "0".into()),
        ("tx_isolation", "REPEATABLE-READ".into()),
        ("tx_read_only", "0".into()),
        ("version", version.into()),
        ("version_comment", "tandem router admin".into()),
        ("wait_timeout", "28800".into()),
    ];
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// An answer: column names and one row.
#[derive(Debug, PartialEq, Eq)]
pub struct Row {
    pub columns: Vec<String>,
    pub values: Vec<Option<String>>,
}

/// `SELECT item, ...` whose items are all `@@[session.|global.|local.]name` or integer
/// literals, each with an optional `[AS] alias`: `None` when it is some other SELECT;
/// `Some(Err(name))` for an unknown variable.
pub fn select(sql: &str, vars: &[(&'static str, String)]) -> Option<Result<Row, String>> {
    let body = strip_keyword(sql.trim(), "select")?;
    let mut row = Row {
        columns: Vec::new(),
        values: Vec::new(),
    };
    for item in body.split(',') {
        let words: Vec<&str> = item.split_whitespace().collect();
        let (expr, alias) = match words.as_slice() {
            [e] => (*e, None),
            [e, a] => (*e, Some(*a)),
            [e, kw, a] if kw.eq_ignore_ascii_case("as") => (*e, Some(*a)),
            _ => return None,
        };
        let value = if let Some(name) = expr.strip_prefix("@@") {
            let lower = name.to_ascii_lowercase();
            let bare = ["session.", "global.", "local."]
                .iter()
                .find_map(|p| lower.strip_prefix(p))
                .unwrap_or(&lower);
            match vars.iter().find(|(n, _)| *n == bare) {
                Some((_, v)) => Some(v.clone()),
                None => return Some(Err(bare.to_string())),
            }
        } else if !expr.is_empty() && expr.bytes().all(|b| b.is_ascii_digit()) {
            Some(expr.to_string())
        } else {
            return None;
        };
        let alias = alias.map(|a| a.trim_matches(|c| matches!(c, '`' | '\'' | '"')));
        row.columns.push(alias.unwrap_or(expr).to_string());
        row.values.push(value);
    }
    Some(Ok(row))
}

/// `SHOW [SESSION|GLOBAL] VARIABLES [LIKE 'pattern' | WHERE ...]`: the variables it asks
/// for (`None`: not that statement). `LIKE` takes `%` and `_`, ignoring case; `WHERE`
/// gives the variables named in quotes in it (the `Variable_name = 'x' OR ...` and
/// `IN ('x', ...)` forms drivers send).
pub fn show_variables<'a>(
    sql: &str,
    vars: &'a [(&'static str, String)],
) -> Option<Vec<&'a (&'static str, String)>> {
    let rest = strip_keyword(sql.trim(), "show")?;
    let rest = strip_keyword(rest, "session")
        .or_else(|| strip_keyword(rest, "global"))
        .unwrap_or(rest);
    let rest = strip_keyword(rest, "variables")?;
    if rest.is_empty() {
        return Some(vars.iter().collect());
    }
    if let Some(pattern) = strip_keyword(rest, "like") {
        let p = unquote(pattern)?;
        return Some(vars.iter().filter(|(n, _)| like(n, &p)).collect());
    }
    let cond = strip_keyword(rest, "where")?;
    let named = quoted(cond);
    Some(
        vars.iter()
            .filter(|(n, _)| named.iter().any(|q| q.eq_ignore_ascii_case(n)))
            .collect(),
    )
}

/// Whether `sql` is `SHOW COLLATION [LIKE ...]` (any filter ignored).
pub fn is_show_collation(sql: &str) -> bool {
    strip_keyword(sql.trim(), "show").is_some_and(|r| strip_keyword(r, "collation").is_some())
}

/// `SHOW COLLATION`'s rows: (collation, charset, id, default).
pub const COLLATIONS: &[(&str, &str, u32, &str)] = &[
    ("latin1_swedish_ci", "latin1", 8, "Yes"),
    ("utf8mb3_general_ci", "utf8mb3", 33, "Yes"),
    ("utf8mb4_general_ci", "utf8mb4", 45, "Yes"),
    ("binary", "binary", 63, "Yes"),
];

/// `s` after the keyword `kw` (ignoring case) and the blanks that follow it.
fn strip_keyword<'a>(s: &'a str, kw: &str) -> Option<&'a str> {
    let head = s.get(..kw.len())?;
    let tail = &s[kw.len()..];
    if !head.eq_ignore_ascii_case(kw) {
        return None;
    }
    if !(tail.is_empty() || tail.starts_with(char::is_whitespace)) {
        return None;
    }
    Some(tail.trim_start())
}

/// The content of a quoted string that is all of `s` (blanks around it allowed).
fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    let q = s.chars().next().filter(|c| matches!(c, '\'' | '"'))?;
    let inner = s.strip_prefix(q)?.strip_suffix(q)?;
    Some(inner.to_string())
}

/// Every single- or double-quoted string in `s`.
fn quoted(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if matches!(c, '\'' | '"') {
            let text: String = chars.by_ref().take_while(|&d| d != c).collect();
            out.push(text);
        }
    }
    out
}

/// SQL LIKE (`%`, `_`, `\` escapes), ignoring ASCII case; linear in the pattern times
/// the name (greedy matching that backtracks only to the last `%`).
fn like(name: &str, pattern: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Tok {
        Any,
        One,
        Byte(u8),
    }
    let mut toks: Vec<Tok> = Vec::new();
    let mut p = pattern.bytes();
    while let Some(b) = p.next() {
        let t = match b {
            b'%' => Tok::Any,
            b'_' => Tok::One,
            b'\\' => Tok::Byte(p.next().unwrap_or(b'\\')),
            other => Tok::Byte(other),
        };
        if !(t == Tok::Any && toks.last() == Some(&Tok::Any)) {
            toks.push(t);
        }
    }
    let n = name.as_bytes();
    let (mut i, mut j) = (0, 0);
    // The last `%` seen and where the name stood then.
    let mut star: Option<(usize, usize)> = None;
    while i < n.len() {
        match toks.get(j) {
            Some(Tok::Any) => {
                star = Some((j, i));
                j += 1;
            }
            Some(Tok::One) => {
                i += 1;
                j += 1;
            }
            Some(Tok::Byte(c)) if c.eq_ignore_ascii_case(&n[i]) => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((sj, si)) => {
                    star = Some((sj, si + 1));
                    j = sj + 1;
                    i = si + 1;
                }
                None => return false,
            },
        }
    }
    toks[j..].iter().all(|t| *t == Tok::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> Vec<(&'static str, String)> {
        variables("10.11.6-MariaDB", "UTC", 1 << 20)
    }

    #[test]
    fn driver_selects_are_answered() {
        let v = vars();
        // MariaDB Connector/J 2.x at connect.
        let r = select(
            "SELECT @@max_allowed_packet,@@system_time_zone,@@time_zone,@@auto_increment_increment",
            &v,
        )
        .expect("a variable select")
        .expect("known");
        assert_eq!(
            r.columns,
            [
                "@@max_allowed_packet",
                "@@system_time_zone",
                "@@time_zone",
                "@@auto_increment_increment"
            ]
        );
        assert_eq!(
            r.values,
            [
                Some("1048576".into()),
                Some("UTC".into()),
                Some("SYSTEM".into()),
                Some("1".into())
            ]
        );
        // MySQL Connector/J 5.1's form with aliases, MyCat's session ones.
        let r = select(
            "select @@session.auto_increment_increment AS auto_increment_increment, @@tx_isolation as `tx_isolation`, @@session.tx_read_only",
            &v,
        )
        .expect("select")
        .expect("known");
        assert_eq!(
            r.columns,
            [
                "auto_increment_increment",
                "tx_isolation",
                "@@session.tx_read_only"
            ]
        );
        assert_eq!(r.values[1].as_deref(), Some("REPEATABLE-READ"));
        let r = select("SELECT 1", &v).expect("select").expect("literal");
        assert_eq!(
            (r.columns, r.values),
            (vec!["1".into()], vec![Some("1".into())])
        );
        assert_eq!(
            select("SELECT @@nosuch", &v),
            Some(Err("nosuch".to_string()))
        );
        assert_eq!(select("SELECT NOW()", &v), None);
        assert_eq!(select("SELECT @@version FROM t", &v), None);
        assert_eq!(select("show @@version", &v), None);
    }

    #[test]
    fn show_variables_filters() {
        let v = vars();
        assert_eq!(
            show_variables("SHOW VARIABLES", &v).map(|r| r.len()),
            Some(v.len())
        );
        fn names(r: Option<Vec<&(&'static str, String)>>) -> Vec<&'static str> {
            r.unwrap_or_default().iter().map(|(n, _)| *n).collect()
        }
        assert_eq!(
            names(show_variables(
                "show session variables like 'character\\_set\\_c%'",
                &v
            )),
            ["character_set_client", "character_set_connection"]
        );
        assert_eq!(
            names(show_variables(
                "SHOW GLOBAL VARIABLES LIKE 'WAIT_TIMEOUT'",
                &v
            )),
            ["wait_timeout"]
        );
        assert_eq!(
            names(show_variables(
                "SHOW VARIABLES WHERE Variable_name ='language' OR Variable_name = 'net_write_timeout' OR Variable_name IN ('time_zone', \"sql_mode\")",
                &v
            )),
            ["net_write_timeout", "sql_mode", "time_zone"]
        );
        assert!(show_variables("SHOW VARIABLESX", &v).is_none());
        assert!(show_variables("show @@sysparam", &v).is_none());
        assert!(like("abc", "a%c") && like("abc", "%") && like("abc", "_b_"));
        assert!(!like("abc", "a%d") && !like("abc", "ab") && like("a_c", "a\\_c"));
        assert!(!like("abc", "a\\_c") && like("ABC", "abc"));
        // Many `%`: linear, not exponential.
        let name = "x".repeat(40);
        assert!(!like(&name, &format!("{}y", "%_".repeat(30))));
        assert!(like(&name, &"%x".repeat(20)));
        assert!(is_show_collation("SHOW COLLATION"));
        assert!(is_show_collation("show collation like 'utf8%'"));
        assert!(!is_show_collation("show collations"));
    }
}
