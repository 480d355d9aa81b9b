//! EXPLAIN as MyCat answers it: `EXPLAIN <statement>` is the router's plan (MyCat's
//! ExplainHandler: a `DATA_NODE`, `SQL` row per node), `EXPLAIN2 datanode=dn sql=...`
//! the server's plan on one data node (Explain2Handler), and EXPLAIN with options
//! (`EXTENDED`, `PARTITIONS`, `FORMAT=`, `ANALYZE`; `DESCRIBE <statement>`; MariaDB's
//! `ANALYZE <statement>`) the server's plan on the one node the statement routes to.

use super::{Affected, Catalog, Lookups, Plan, Planned, SchemaCat, Target, refuse};
use crate::router::sql::{Token, lex};
use crate::router::wire::SqlError;

/// An EXPLAIN of a statement (not `EXPLAIN tbl` / `DESCRIBE tbl`, which name a table).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form<'a> {
    /// `EXPLAIN <statement>`: the router answers with its plan.
    Router { inner: &'a str },
    /// EXPLAIN with options, `EXPLAIN ANALYZE`, `DESCRIBE <statement>`, MariaDB's
    /// `ANALYZE <statement>`: `prefix` (`EXPLAIN FORMAT=JSON `) + the statement run on
    /// the node the statement routes to. `analyze`: the server runs the statement too.
    Node {
        prefix: &'a str,
        inner: &'a str,
        analyze: bool,
    },
    /// `EXPLAIN2 [FORMAT=JSON] datanode=<dn> sql=<statement>`: `EXPLAIN [FORMAT=JSON]
    /// <statement>` on that data node, as MyCat sends it.
    Node2 { node: String, sql: String },
}

/// The words a statement EXPLAIN can take starts with.
const STATEMENT_HEADS: &[&str] = &[
    "SELECT", "INSERT", "UPDATE", "DELETE", "REPLACE", "WITH", "TABLE", "VALUES",
];

fn statement_head(t: Option<&Token<'_>>, table_ok: bool) -> bool {
    t.is_some_and(|t| {
        t.punct(b'(')
            || STATEMENT_HEADS
                .iter()
                .any(|k| t.is(k) && (table_ok || *k != "TABLE"))
    })
}

/// What kind of EXPLAIN `sql` is, if it is one of a statement. Cheap for other
/// statements (one look at the first word).
pub fn form(sql: &str) -> Option<Form<'_>> {
    let head = sql.trim_start();
    let word = &head[..head.bytes().take_while(u8::is_ascii_alphanumeric).count()];
    if word.eq_ignore_ascii_case("EXPLAIN2") {
        return Some(explain2(head));
    }
    if !["EXPLAIN", "DESC", "DESCRIBE", "ANALYZE"]
        .iter()
        .any(|k| word.eq_ignore_ascii_case(k))
    {
        return None;
    }
    let toks = lex(sql);
    let first = toks.first()?;
    let mut i = 1;
    let mut options = false;
    let mut analyze = false;
    if first.is("ANALYZE") {
        // MariaDB: ANALYZE [FORMAT=JSON] <statement>; not ANALYZE TABLE.
        analyze = true;
        options = true;
    }
    loop {
        let t = toks.get(i);
        if t.is_some_and(|t| t.is("EXTENDED") || t.is("PARTITIONS")) && first.is("EXPLAIN") {
            options = true;
            i += 1;
        } else if t.is_some_and(|t| t.is("ANALYZE")) && first.is("EXPLAIN") {
            options = true;
            analyze = true;
            i += 1;
        } else if t.is_some_and(|t| t.is("FORMAT"))
            && toks.get(i + 1).is_some_and(|t| t.punct(b'='))
        {
            options = true;
            i += 3;
        } else {
            break;
        }
    }
    let t = toks.get(i)?;
    if !statement_head(Some(t), !first.is("ANALYZE")) {
        return None;
    }
    let inner = sql.get(t.start..)?;
    let prefix = sql.get(..t.start)?;
    if first.is("EXPLAIN") && !options {
        return Some(Form::Router { inner });
    }
    Some(Form::Node {
        prefix,
        inner,
        analyze,
    })
}

/// `EXPLAIN2 ...`: MyCat looks for `datanode=` and `sql=` in any case; what follows
/// `sql=` is the statement; `FORMAT=JSON` before it asks for `EXPLAIN FORMAT=JSON`.
/// Anything it cannot read is a `Node2` with an empty node (refused where it is run).
fn explain2(head: &str) -> Form<'static> {
    let lower = head.to_ascii_lowercase();
    let bad = || Form::Node2 {
        node: String::new(),
        sql: String::new(),
    };
    let Some(at_sql) = lower.find("sql=") else {
        return bad();
    };
    let (Some(opts), Some(stmt)) = (head.get("EXPLAIN2".len()..at_sql), head.get(at_sql + 4..))
    else {
        return bad();
    };
    let stmt = stmt.trim();
    let mut node = None;
    let mut json = false;
    for w in opts.split_whitespace() {
        if w.get(..9)
            .is_some_and(|p| p.eq_ignore_ascii_case("datanode="))
        {
            node = w.get(9..).map(str::to_string);
        } else if w.eq_ignore_ascii_case("format=json") {
            json = true;
        } else {
            return bad();
        }
    }
    match node {
        Some(n) if !n.is_empty() && !stmt.is_empty() => Form::Node2 {
            node: n,
            sql: format!("EXPLAIN {}{stmt}", if json { "FORMAT=JSON " } else { "" }),
        },
        _ => bad(),
    }
}

/// The syntax, for errors.
pub const EXPLAIN2_SYNTAX: &str = "EXPLAIN2 [FORMAT=JSON] datanode=<data node> sql=<statement>";

/// MyCat's answer to EXPLAIN of a statement that needs global sequence ids.
pub fn sequence_refused() -> SqlError {
    refuse(
        "insert sql using mycat seq, you must provide primaryKey value for explain (EXPLAIN does not take ids from the global sequence)",
    )
}

/// The rows of the router's answer to `EXPLAIN <statement>`: one per node the plan
/// runs on (for a read of global tables, the copy that would answer), with the text
/// that node gets, tabs and line breaks turned into spaces as MyCat shows them.
pub fn rows(p: &Plan, statement: &str) -> Vec<(String, String)> {
    let n = if p.any_one { 1 } else { p.targets.len() };
    p.targets
        .iter()
        .take(n)
        .map(|t| {
            let sql = t.sql.as_deref().unwrap_or(statement);
            (t.node.clone(), sql.replace(['\t', '\n', '\r'], " "))
        })
        .collect()
}

/// The plan of an EXPLAIN of a statement inside the planner: the server's EXPLAIN on
/// the node the statement routes to (the router's own answer to `EXPLAIN <statement>`
/// is given by the session; here it is planned like the other forms, e.g. behind a
/// `db_type` hint). Several nodes are refused: each would explain only its part.
pub(super) fn plan(
    cat: &Catalog,
    sc: &SchemaCat,
    f: Form<'_>,
    whole: &str,
    lookups: &Lookups,
) -> Result<Planned, SqlError> {
    let (prefix, inner) = match f {
        Form::Node2 { node, sql } => {
            if node.is_empty() {
                return Err(refuse(format!("the syntax is {EXPLAIN2_SYNTAX}")));
            }
            if !cat.nodes.contains(&node) {
                return Err(refuse(format!(
                    "EXPLAIN2 datanode={node}: no such data node"
                )));
            }
            return Ok(Planned::Route(
                Plan::one(node, Some(sql), true).note("EXPLAIN2: the data node's own plan"),
            ));
        }
        Form::Router { inner } => ("EXPLAIN ", inner),
        Form::Node { prefix, inner, .. } => (prefix, inner),
    };
    if !crate::router::sequence::find_nextval(inner).is_empty() {
        return Err(sequence_refused());
    }
    let p = match super::plan_text(cat, sc, inner, lookups)? {
        Planned::Route(p) => p,
        Planned::Lookup(l) => return Ok(Planned::Lookup(l)),
        Planned::Columns(c) => return Ok(Planned::Columns(c)),
        Planned::Ids { .. } => return Err(sequence_refused()),
    };
    let what = prefix.split_whitespace().collect::<Vec<_>>().join(" ");
    if p.targets.len() > 1 && !p.any_one {
        return Err(refuse(format!(
            "{what} runs on the data node its statement routes to, and this statement reaches data nodes {} (each would explain only its own rows): EXPLAIN <statement> shows the router's plan, and {EXPLAIN2_SYNTAX} a node's own",
            p.nodes().join(",")
        )));
    }
    let read = crate::router::sql::analyze(whole).is_read();
    Ok(Planned::Route(Plan {
        targets: p
            .targets
            .into_iter()
            .map(|t| Target {
                sql: Some(format!("{prefix}{}", t.sql.as_deref().unwrap_or(inner))),
                node: t.node,
            })
            .collect(),
        read,
        any_one: p.any_one,
        merge: None,
        affected: Affected::Sum,
        avg_items: Vec::new(),
        note: Some(format!(
            "{what}: the server's plan on the node the statement routes to"
        )),
        clock: None,
    }))
}
