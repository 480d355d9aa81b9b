//! `information_schema` tables the router answers from its own state (pure):
//! `PROCESSLIST` (its client sessions, [`super::processlist`]) and `USER_PRIVILEGES`,
//! `SCHEMA_PRIVILEGES`, `TABLE_PRIVILEGES`, `COLUMN_PRIVILEGES` (its user's grants, as
//! `SHOW GRANTS` lists them). On a server these tables show the router's backend login:
//! every client's statements and that login's grants.
//!
//! A SELECT reading them (and no other table) is evaluated by a server on the router's
//! rows: each reference to such a table becomes a derived table of literal rows
//! ([`derived`]), and the session functions (`CONNECTION_ID()`, `USER()`,
//! `DATABASE()`, ...) become the router's values ([`rewrite`]). WHERE, projection,
//! ORDER BY, GROUP BY and functions thus keep the server's semantics, and the server
//! sees only rows the user may see. Any other statement naming them is refused
//! ([`crate::router::guard`]).

use std::ops::ControlFlow;

use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;

use super::guard::Grant;
use super::plan::text::{self, Edits};
use super::sql::{LocalItem, Tok, Token, lex, local_item};
use super::wire::SqlError;

/// A table of `information_schema` the router answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Own {
    Processlist,
    UserPrivileges,
    SchemaPrivileges,
    TablePrivileges,
    ColumnPrivileges,
}

/// How a column's values are written as literals.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Int,
    /// DECIMAL(22,3)
    Dec,
    Text,
    Bin,
}

use Ty::*;

const PROCESSLIST: &[(&str, Ty)] = &[
    ("ID", Int),
    ("USER", Text),
    ("HOST", Text),
    ("DB", Text),
    ("COMMAND", Text),
    ("TIME", Int),
    ("STATE", Text),
    ("INFO", Text),
    ("TIME_MS", Dec),
    ("STAGE", Int),
    ("MAX_STAGE", Int),
    ("PROGRESS", Dec),
    ("MEMORY_USED", Int),
    ("MAX_MEMORY_USED", Int),
    ("EXAMINED_ROWS", Int),
    ("QUERY_ID", Int),
    ("INFO_BINARY", Bin),
    ("TID", Int),
];

const USER_PRIVILEGES: &[(&str, Ty)] = &[
    ("GRANTEE", Text),
    ("TABLE_CATALOG", Text),
    ("PRIVILEGE_TYPE", Text),
    ("IS_GRANTABLE", Text),
];

const SCHEMA_PRIVILEGES: &[(&str, Ty)] = &[
    ("GRANTEE", Text),
    ("TABLE_CATALOG", Text),
    ("TABLE_SCHEMA", Text),
    ("PRIVILEGE_TYPE", Text),
    ("IS_GRANTABLE", Text),
];

const TABLE_PRIVILEGES: &[(&str, Ty)] = &[
    ("GRANTEE", Text),
    ("TABLE_CATALOG", Text),
    ("TABLE_SCHEMA", Text),
    ("TABLE_NAME", Text),
    ("PRIVILEGE_TYPE", Text),
    ("IS_GRANTABLE", Text),
];

const COLUMN_PRIVILEGES: &[(&str, Ty)] = &[
    ("GRANTEE", Text),
    ("TABLE_CATALOG", Text),
    ("TABLE_SCHEMA", Text),
    ("TABLE_NAME", Text),
    ("COLUMN_NAME", Text),
    ("PRIVILEGE_TYPE", Text),
    ("IS_GRANTABLE", Text),
];

/// What `ALL PRIVILEGES` on a database is, one row each in `SCHEMA_PRIVILEGES` (as
/// MariaDB lists them).
const ALL_ON_SCHEMA: &[&str] = &[
    "SELECT",
    "INSERT",
    "UPDATE",
    "DELETE",
    "CREATE",
    "DROP",
    "REFERENCES",
    "INDEX",
    "ALTER",
    "CREATE TEMPORARY TABLES",
    "LOCK TABLES",
    "EXECUTE",
    "CREATE VIEW",
    "SHOW VIEW",
    "CREATE ROUTINE",
    "ALTER ROUTINE",
    "EVENT",
    "TRIGGER",
    "DELETE HISTORY",
];

impl Own {
    pub fn named(name: &str) -> Option<Own> {
        [
            ("PROCESSLIST", Own::Processlist),
            ("USER_PRIVILEGES", Own::UserPrivileges),
            ("SCHEMA_PRIVILEGES", Own::SchemaPrivileges),
            ("TABLE_PRIVILEGES", Own::TablePrivileges),
            ("COLUMN_PRIVILEGES", Own::ColumnPrivileges),
        ]
        .into_iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, o)| o)
    }

    pub fn name(self) -> &'static str {
        match self {
            Own::Processlist => "PROCESSLIST",
            Own::UserPrivileges => "USER_PRIVILEGES",
            Own::SchemaPrivileges => "SCHEMA_PRIVILEGES",
            Own::TablePrivileges => "TABLE_PRIVILEGES",
            Own::ColumnPrivileges => "COLUMN_PRIVILEGES",
        }
    }

    fn columns(self) -> &'static [(&'static str, Ty)] {
        match self {
            Own::Processlist => PROCESSLIST,
            Own::UserPrivileges => USER_PRIVILEGES,
            Own::SchemaPrivileges => SCHEMA_PRIVILEGES,
            Own::TablePrivileges => TABLE_PRIVILEGES,
            Own::ColumnPrivileges => COLUMN_PRIVILEGES,
        }
    }
}

/// A reference to one of the router's tables in a statement's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ref<'a> {
    pub own: Own,
    /// From `information_schema` through the table name.
    pub span: (usize, usize),
    /// The table name as written (unquoted).
    pub name: &'a str,
    /// An alias follows (`AS p`, `p`).
    pub alias: bool,
    /// `information_schema.PROCESSLIST.ID`: a column's qualifier, not a table.
    pub column: bool,
}

/// Reserved words that may follow a table reference: never an alias.
const NOT_ALIAS: &[&str] = &[
    "WHERE",
    "GROUP",
    "HAVING",
    "ORDER",
    "LIMIT",
    "JOIN",
    "INNER",
    "CROSS",
    "LEFT",
    "RIGHT",
    "NATURAL",
    "STRAIGHT_JOIN",
    "ON",
    "USING",
    "UNION",
    "EXCEPT",
    "INTERSECT",
    "FOR",
    "LOCK",
    "INTO",
    "WINDOW",
    "USE",
    "IGNORE",
    "FORCE",
    "PARTITION",
    "PROCEDURE",
    "RETURNING",
    "SET",
    "VALUES",
];

/// The references to the router's tables in `toks`.
pub fn refs<'a>(toks: &[Token<'a>]) -> Vec<Ref<'a>> {
    let name_tok = |t: &Token<'_>| matches!(t.tok, Tok::Word | Tok::QuotedIdent);
    let mut out = Vec::new();
    for (i, w) in toks.windows(3).enumerate() {
        if !(name_tok(&w[0])
            && w[0].ident().eq_ignore_ascii_case("information_schema")
            && w[1].punct(b'.')
            && name_tok(&w[2]))
        {
            continue;
        }
        let Some(own) = Own::named(w[2].ident()) else {
            continue;
        };
        let next = toks.get(i + 3);
        let alias = match next {
            Some(t) if t.tok == Tok::QuotedIdent => true,
            Some(t) if t.tok == Tok::Word => !NOT_ALIAS.iter().any(|k| t.is(k)),
            _ => false,
        };
        out.push(Ref {
            own,
            span: (w[0].start, w[2].end),
            name: w[2].ident(),
            alias,
            column: next.is_some_and(|t| t.punct(b'.')),
        });
    }
    out
}

/// The first of the router's tables `sql` names (a cheap test first: most statements
/// do not contain `information_schema`).
pub fn mentioned(sql: &str) -> Option<Own> {
    const IS: &[u8] = b"information_schema";
    if !sql
        .as_bytes()
        .windows(IS.len())
        .any(|w| w.eq_ignore_ascii_case(IS))
    {
        return None;
    }
    refs(&lex(sql)).first().map(|r| r.own)
}

/// The error for a statement that names the router's tables where it cannot answer them.
pub fn not_here(what: &str) -> SqlError {
    SqlError::new(
        1105,
        "HY000",
        format!(
            "information_schema.{what} is the router's own table: it is answered in a SELECT statement of its own, reading no other table (not in other statements, prepared statements, multi-statement texts, hinted statements, locking reads or SELECT ... INTO)"
        ),
    )
}

/// Checks that `sql` is one query whose only tables are the router's: a server cannot
/// answer it with other tables alongside (they would be read with the router's backend
/// login, on one node).
pub fn reads_only_own(sql: &str) -> Result<(), SqlError> {
    // The parser reads `/*! ... */` as a comment, the server as code: a table in there
    // would go unseen.
    let b = sql.as_bytes();
    if b.windows(3).any(|w| w == b"/*!") || b.windows(4).any(|w| w.eq_ignore_ascii_case(b"/*M!")) {
        return Err(SqlError::new(
            1105,
            "HY000",
            "a query on the router's own information_schema tables cannot hold /*! ... */ comments: write it without them",
        ));
    }
    let stmts = Parser::parse_sql(&MySqlDialect {}, sql).map_err(|e| {
        SqlError::new(
            1105,
            "HY000",
            format!("the router cannot read this query on its own information_schema tables: {e}"),
        )
    })?;
    let [sqlparser::ast::Statement::Query(_)] = stmts.as_slice() else {
        return Err(not_here("PROCESSLIST"));
    };
    let other = sqlparser::ast::visit_relations(&stmts, |name| {
        let parts: Vec<&str> = name
            .0
            .iter()
            .filter_map(|p| p.as_ident().map(|i| i.value.as_str()))
            .collect();
        match parts.as_slice() {
            [db, t] if db.eq_ignore_ascii_case("information_schema") && Own::named(t).is_some() => {
                ControlFlow::Continue(())
            }
            _ => ControlFlow::Break(name.to_string()),
        }
    });
    match other {
        ControlFlow::Continue(()) => Ok(()),
        ControlFlow::Break(t) => Err(SqlError::new(
            1105,
            "HY000",
            format!(
                "a query on the router's own information_schema tables (PROCESSLIST, *_PRIVILEGES) cannot read other tables ({t}): query them in a statement of their own"
            ),
        )),
    }
}

/// A value's literal for a column of type `ty` (numbers are checked to be numbers).
fn literal(ty: Ty, v: Option<&str>) -> String {
    let Some(v) = v else {
        return "NULL".to_string();
    };
    let numeric = |dot: bool| {
        let digits = v.strip_prefix('-').unwrap_or(v);
        !digits.is_empty()
            && digits
                .bytes()
                .all(|b| b.is_ascii_digit() || (dot && b == b'.'))
    };
    match ty {
        Int if numeric(false) => v.to_string(),
        Dec if numeric(true) => v.to_string(),
        Int | Dec => "NULL".to_string(),
        Text => text::text_literal(Some(v)),
        Bin if v.is_empty() => "CAST('' AS BINARY)".to_string(),
        Bin => {
            let hex: String = v.bytes().map(|b| format!("{b:02x}")).collect();
            format!("X'{hex}'")
        }
    }
}

/// Table `own` with `rows` as a derived table: a first SELECT without rows fixes the
/// column names and types, each row is a SELECT of literals (text as hex, so that no
/// sql_mode changes its meaning).
pub fn derived(own: Own, rows: &[Vec<Option<String>>]) -> String {
    let cols = own.columns();
    let head: Vec<String> = cols
        .iter()
        .map(|(n, ty)| {
            let null = match ty {
                Int => "CAST(NULL AS SIGNED)",
                Dec => "CAST(NULL AS DECIMAL(22,3))",
                Text => "CONVERT(NULL USING utf8mb4)",
                Bin => "CAST(NULL AS BINARY)",
            };
            format!("{null} AS {}", text::quote_ident(n))
        })
        .collect();
    let mut s = format!("(SELECT {} FROM DUAL WHERE 0", head.join(", "));
    for r in rows {
        let items: Vec<String> = cols
            .iter()
            .enumerate()
            .map(|(i, (_, ty))| literal(*ty, r.get(i).and_then(|v| v.as_deref())))
            .collect();
        s.push_str(" UNION ALL SELECT ");
        s.push_str(&items.join(", "));
    }
    s.push(')');
    s
}

/// `sql` with each of the router's tables replaced by `table(own)` (a derived table,
/// [`derived`]), and each session function the router answers (`CONNECTION_ID()`,
/// `USER()`, `CURRENT_USER`, `DATABASE()`, `@@version`, ...) by `value(item)` as a
/// literal.
pub fn rewrite(
    sql: &str,
    mut table: impl FnMut(Own) -> String,
    value: impl Fn(&LocalItem) -> Option<String>,
) -> Result<String, SqlError> {
    let toks = lex(sql);
    let mut e = Edits::default();
    for r in refs(&toks) {
        if r.column {
            continue;
        }
        let mut with = table(r.own);
        if !r.alias {
            with.push_str(" AS ");
            with.push_str(&text::quote_ident(r.name));
        }
        e.replace(r.span, with);
    }
    let mut substituted: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let call = toks.get(i..i + 3).filter(|c| {
            c[0].tok == Tok::Word
                && c[1].punct(b'(')
                && c[2].punct(b')')
                && !(i > 0 && toks[i - 1].punct(b'.'))
        });
        let (item, n) = match call {
            Some(c) => (local_item(c), 3),
            None => {
                let t = &toks[i..=i];
                let bare = t[0].tok == Tok::SysVar
                    || (t[0].is("CURRENT_USER") && !toks.get(i + 1).is_some_and(|x| x.punct(b'(')));
                (if bare { local_item(t) } else { None }, 1)
            }
        };
        if let Some(item) = item {
            let numeric = matches!(
                item,
                LocalItem::ConnectionId
                    | LocalItem::LastInsertId
                    | LocalItem::AutoIncrementIncrement
                    | LocalItem::TxReadOnly
            );
            let v = value(&item);
            let lit = if numeric {
                literal(Int, v.as_deref())
            } else {
                text::text_literal(v.as_deref())
            };
            let span = (toks[i].start, toks[i + n - 1].end);
            e.replace(span, lit);
            substituted.push(span);
            i += n;
        } else {
            i += 1;
        }
    }
    // A select item the server would name by its text (`USER()`) keeps that name.
    for (a, b) in unaliased_items(&toks) {
        let (start, end) = (toks[a].start, toks[b].end);
        if substituted.iter().any(|&(s, t)| s >= start && t <= end) {
            let name = format!(" AS {}", text::quote_ident(&sql[start..end]));
            e.insert(end, name);
        }
    }
    e.apply(sql)
        .ok_or_else(|| SqlError::new(1105, "HY000", "the router could not rewrite this query"))
}

/// The items of a statement's top-level select list that have no alias, as (first,
/// last) token indexes.
fn unaliased_items(toks: &[Token<'_>]) -> Vec<(usize, usize)> {
    if !toks.first().is_some_and(|t| t.is("SELECT")) {
        return Vec::new();
    }
    let ends = [
        "FROM", "INTO", "WHERE", "GROUP", "HAVING", "ORDER", "LIMIT", "UNION", "FOR", "LOCK",
    ];
    let mut items = Vec::new();
    let mut depth = 0i32;
    let mut start = 1;
    let mut i = 1;
    while i <= toks.len() {
        let t = toks.get(i);
        let end = match t {
            None => true,
            Some(t) if t.tok == Tok::Semi => true,
            Some(t) if depth == 0 && ends.iter().any(|k| t.is(k)) => true,
            _ => false,
        };
        if end || t.is_some_and(|t| depth == 0 && t.punct(b',')) {
            if i > start {
                items.push((start, i - 1));
            }
            if end {
                break;
            }
            start = i + 1;
        } else if let Some(t) = t {
            match t.tok {
                Tok::Punct(b'(') => depth += 1,
                Tok::Punct(b')') => depth -= 1,
                _ => {}
            }
        }
        i += 1;
    }
    items.retain(|&(a, b)| {
        let aliased = b > a && {
            let (prev, last) = (&toks[b - 1], &toks[b]);
            prev.is("AS")
                || (matches!(last.tok, Tok::Word | Tok::QuotedIdent)
                    && matches!(
                        prev.tok,
                        Tok::Word | Tok::QuotedIdent | Tok::Str | Tok::Punct(b')')
                    ))
        };
        !aliased
    });
    items
}

/// The `GRANTEE` of a router user: `'name'@'%'`.
pub fn grantee(user: &str) -> String {
    format!("'{}'@'%'", user.replace('\'', "''"))
}

/// The rows of a privileges table for the router user `user` with grants `grants`
/// ([`crate::router::guard::grant_list`]): `ALL PRIVILEGES` on a schema is one row per
/// privilege it holds, as on a server.
pub fn privilege_rows(own: Own, user: &str, grants: &[Grant]) -> Vec<Vec<Option<String>>> {
    let g = Some(grantee(user));
    let def = Some("def".to_string());
    let no = Some("NO".to_string());
    let mut rows = Vec::new();
    for gr in grants {
        let privs: &[&str] = if gr.privileges == ["ALL PRIVILEGES"] {
            ALL_ON_SCHEMA
        } else {
            &gr.privileges
        };
        for p in privs {
            let p = Some(p.to_string());
            match (own, &gr.schema, &gr.table) {
                (Own::UserPrivileges, None, _) => {
                    rows.push(vec![g.clone(), def.clone(), p, no.clone()]);
                }
                (Own::SchemaPrivileges, Some(s), None) => {
                    rows.push(vec![g.clone(), def.clone(), Some(s.clone()), p, no.clone()]);
                }
                (Own::TablePrivileges, Some(s), Some(t)) => rows.push(vec![
                    g.clone(),
                    def.clone(),
                    Some(s.clone()),
                    Some(t.clone()),
                    p,
                    no.clone(),
                ]),
                _ => {}
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_and_their_aliases() {
        let sql = "SELECT p.ID FROM information_schema.PROCESSLIST p JOIN `INFORMATION_SCHEMA`.`user_privileges` WHERE information_schema.processlist.ID > 0";
        let toks = lex(sql);
        let r = refs(&toks);
        assert_eq!(r.len(), 3, "{r:?}");
        assert_eq!(
            (r[0].own, r[0].alias, r[0].column),
            (Own::Processlist, true, false)
        );
        assert_eq!(
            &sql[r[0].span.0..r[0].span.1],
            "information_schema.PROCESSLIST"
        );
        assert_eq!(
            (r[1].own, r[1].alias, r[1].name),
            (Own::UserPrivileges, false, "user_privileges")
        );
        assert!(r[2].column);
        assert!(refs(&lex("SELECT * FROM information_schema.TABLES")).is_empty());
        assert!(refs(&lex("SELECT 'information_schema.processlist'")).is_empty());
        assert_eq!(
            mentioned("select * from information_schema . processlist as x"),
            Some(Own::Processlist)
        );
        assert_eq!(mentioned("SELECT 1"), None);
    }

    #[test]
    fn the_tables_become_literal_rows_and_session_functions_the_routers_values() {
        let rows = vec![vec![
            Some("7".to_string()),
            Some("app".to_string()),
            Some("127.0.0.1:5000".to_string()),
            None,
            Some("Query".to_string()),
            Some("3".to_string()),
            Some("executing".to_string()),
            Some("SELECT 'x'".to_string()),
            Some("3000.000".to_string()),
        ]];
        let sql = "SELECT ID, INFO FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND USER = SUBSTRING_INDEX(USER(), '@', 1) AND DB <=> database()";
        let out = rewrite(
            sql,
            |o| derived(o, &rows),
            |i| match i {
                LocalItem::ConnectionId => Some("9".into()),
                LocalItem::User => Some("app@127.0.0.1".into()),
                LocalItem::Database => None,
                _ => Some("?".into()),
            },
        )
        .expect("rewrite");
        assert!(
            out.starts_with("SELECT ID, INFO FROM (SELECT CAST(NULL AS SIGNED) AS `ID`, "),
            "{out}"
        );
        assert!(
            out.contains(
                " FROM DUAL WHERE 0 UNION ALL SELECT 7, CONVERT(X'617070' USING utf8mb4), "
            ),
            "{out}"
        );
        // Columns past the given ones are NULL; the empty BLOB is not a hex literal.
        assert!(out.contains(", 3000.000, NULL, "), "{out}");
        assert!(
            out.contains(") AS `PROCESSLIST` WHERE ID <> 9 AND USER = SUBSTRING_INDEX(CONVERT(X'"),
            "{out}"
        );
        assert!(out.ends_with("AND DB <=> NULL"), "{out}");
        // An alias stays; a qualified function is the user's own.
        let out = rewrite(
            "SELECT COUNT(*) FROM information_schema.processlist AS p WHERE p.ID = db1.CONNECTION_ID()",
            |_| "(X)".into(),
            |_| Some("1".into()),
        )
        .expect("rewrite");
        assert_eq!(
            out,
            "SELECT COUNT(*) FROM (X) AS p WHERE p.ID = db1.CONNECTION_ID()"
        );
        // A select item keeps the name the server gives it.
        let out = rewrite(
            "SELECT CURRENT_USER, USER() AS u, CONNECTION_ID() c, (DATABASE()) FROM information_schema.USER_PRIVILEGES",
            |_| "(X)".into(),
            |_| Some("1".into()),
        )
        .expect("rewrite");
        assert_eq!(
            out,
            "SELECT CONVERT(X'31' USING utf8mb4) AS `CURRENT_USER`, CONVERT(X'31' USING utf8mb4) AS u, 1 c, (CONVERT(X'31' USING utf8mb4)) AS `(DATABASE())` FROM (X) AS `USER_PRIVILEGES`"
        );
        // Numbers are numbers.
        assert_eq!(literal(Int, Some("1; DROP")), "NULL");
        assert_eq!(literal(Dec, Some("-1.5")), "-1.5");
    }

    #[test]
    fn only_the_routers_tables_may_be_read() {
        for ok in [
            "SELECT * FROM information_schema.PROCESSLIST WHERE COMMAND <> 'Sleep'",
            "SELECT p.ID FROM information_schema.processlist p JOIN information_schema.USER_PRIVILEGES u ON 1",
            "SELECT ID FROM information_schema.PROCESSLIST WHERE ID IN (SELECT ID FROM information_schema.PROCESSLIST)",
        ] {
            assert!(reads_only_own(ok).is_ok(), "{ok}");
        }
        for bad in [
            "SELECT * FROM information_schema.PROCESSLIST JOIN t",
            "SELECT * FROM information_schema.PROCESSLIST WHERE ID IN (SELECT id FROM mysql.user)",
            "SELECT * FROM information_schema.PROCESSLIST, information_schema.TABLES",
            "SELECT * FROM information_schema.PROCESSLIST; SELECT 1",
            "SELECT * FROM information_schema.PROCESSLIST WHERE",
            "SELECT * FROM information_schema.PROCESSLIST /*!, t */",
            "SELECT * FROM information_schema.PROCESSLIST /*M!100000 , t */",
        ] {
            assert!(reads_only_own(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn privileges_as_a_server_lists_them() {
        let grants = vec![
            Grant {
                schema: None,
                table: None,
                privileges: vec!["USAGE"],
            },
            Grant {
                schema: Some("shop".into()),
                table: None,
                privileges: vec!["ALL PRIVILEGES"],
            },
            Grant {
                schema: Some("hr".into()),
                table: Some("emp".into()),
                privileges: vec!["SELECT", "UPDATE"],
            },
        ];
        let u = privilege_rows(Own::UserPrivileges, "o'k", &grants);
        assert_eq!(
            u,
            vec![vec![
                Some("'o''k'@'%'".to_string()),
                Some("def".to_string()),
                Some("USAGE".to_string()),
                Some("NO".to_string())
            ]]
        );
        let s = privilege_rows(Own::SchemaPrivileges, "app", &grants);
        assert_eq!(s.len(), ALL_ON_SCHEMA.len());
        assert_eq!(s[0][2].as_deref(), Some("shop"));
        let t = privilege_rows(Own::TablePrivileges, "app", &grants);
        assert_eq!(t.len(), 2);
        assert_eq!(
            t[1][3..5],
            [Some("emp".to_string()), Some("UPDATE".to_string())]
        );
        assert!(privilege_rows(Own::ColumnPrivileges, "app", &grants).is_empty());
    }
}
